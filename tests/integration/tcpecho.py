#!/usr/bin/python3
"""A TCP echo peer for RFC 6062 tests: every byte received is sent back, and
each connection is logged ("connection from IP:PORT").

Usage: tcpecho.py ADDR PORT [SECONDS]. Serves until SECONDS (default 120)
have passed, then exits; prints "listening" once ready.
"""
import asyncio
import sys


async def echo(reader, writer):
    print("connection from %s:%d" % writer.get_extra_info("peername")[:2], flush=True)
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()


async def main():
    addr, port = sys.argv[1], int(sys.argv[2])
    seconds = float(sys.argv[3]) if len(sys.argv) > 3 else 120.0
    server = await asyncio.start_server(echo, addr, port, reuse_address=True)
    print("listening", flush=True)
    async with server:
        try:
            await asyncio.wait_for(server.serve_forever(), seconds)
        except asyncio.TimeoutError:
            pass


asyncio.run(main())
