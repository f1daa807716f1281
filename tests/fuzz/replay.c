/*
 * Replays files through a fuzz target without libFuzzer: each argument is a file
 * or a directory of files; one TAP line per file. A crash is the failure.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Reads a whole file into an exactly sized allocation, so ASan sees overreads. */
static uint8_t *
replay_read(const char *path, size_t *len)
{
	struct stat st;
	uint8_t *p;
	FILE *f;

	if ((f = fopen(path, "rb")) == NULL)
		return NULL;
	if (fstat(fileno(f), &st) == -1 || st.st_size < 0 ||
	    (p = malloc(st.st_size > 0 ? (size_t)st.st_size : 1)) == NULL) {
		fclose(f);
		return NULL;
	}
	*len = fread(p, 1, (size_t)st.st_size, f);
	if (ferror(f) || *len != (size_t)st.st_size) {
		free(p);
		p = NULL;
	}
	fclose(f);
	return p;
}

static int
replay_file(const char *path, int *n)
{
	uint8_t *p;
	size_t len = 0;

	printf("# %s\n", path);
	fflush(stdout);
	if ((p = replay_read(path, &len)) == NULL) {
		printf("not ok %d - %s (cannot read)\n", ++*n, path);
		return -1;
	}
	LLVMFuzzerTestOneInput(p, len);
	free(p);
	printf("ok %d - %s\n", ++*n, path);
	return 0;
}

static int
replay_is_file(const struct dirent *de)
{
	return de->d_name[0] != '.';
}

static int
replay_dir(const char *dir, int *n)
{
	struct dirent **list;
	char path[4096];
	int i, count, rc = 0;

	if ((count = scandir(dir, &list, replay_is_file, alphasort)) == -1) {
		printf("not ok %d - %s (cannot list)\n", ++*n, dir);
		return -1;
	}
	for (i = 0; i < count; i++) {
		snprintf(path, sizeof path, "%s/%s", dir, list[i]->d_name);
		if (replay_file(path, n) == -1)
			rc = -1;
		free(list[i]);
	}
	free(list);
	return rc;
}

int
main(int argc, char **argv)
{
	struct stat st;
	int i, n = 0, rc = 0;

	for (i = 1; i < argc; i++) {
		if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) {
			if (replay_dir(argv[i], &n) == -1)
				rc = 1;
		} else if (replay_file(argv[i], &n) == -1)
			rc = 1;
	}
	printf("1..%d\n", n);
	return rc;
}
