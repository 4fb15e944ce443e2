"""Test-only network block (tests/test_snakemake_runs.py): every Python process started with this
folder on PYTHONPATH refuses connections that would leave the machine, and records each attempt in
$CG2REAL_NETWORK_LOG. Loopback and this host's own addresses stay open: torchrun and gloo talk
over them. A download anywhere in the chain then fails, and is listed, instead of passing unseen.
"""

import ipaddress
import os
import socket

_connect, _connect_ex = socket.socket.connect, socket.socket.connect_ex


def _own_addresses() -> set[str]:
    try:
        return {info[4][0] for info in socket.getaddrinfo(socket.gethostname(), None)}
    except OSError:
        return set()


def _leaves_machine(sock: socket.socket, address) -> bool:
    if sock.family not in (socket.AF_INET, socket.AF_INET6):
        return False  # unix sockets
    host = address[0]
    try:
        return not ipaddress.ip_address(host).is_loopback and host not in _own_addresses()
    except ValueError:  # a name: resolve it as the connection would
        return any(_leaves_machine(sock, (info[4][0], 0)) for info in socket.getaddrinfo(host, None))


def _refuse(sock: socket.socket, address) -> None:
    with open(os.environ.get("CG2REAL_NETWORK_LOG", os.devnull), "a") as log:
        log.write(f"{os.getpid()} {address!r}\n")
    raise OSError(101, f"network blocked by the test (connection to {address!r})")


def _guarded_connect(sock, address):
    if _leaves_machine(sock, address):
        _refuse(sock, address)
    return _connect(sock, address)


def _guarded_connect_ex(sock, address):
    if _leaves_machine(sock, address):
        _refuse(sock, address)
    return _connect_ex(sock, address)


socket.socket.connect = _guarded_connect
socket.socket.connect_ex = _guarded_connect_ex
