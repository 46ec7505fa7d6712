"""A private network namespace for a test process, for services whose ports are fixed.

Samba's AD DC binds LDAP on 389/636/3268/3269 and has no option to change them (see
peers_samba.py). A test that needs that LDAP moves its own process into a new network
namespace first: the namespace has nothing but its own loopback, so the fixed ports are free
whatever the machine runs, two such tests (ctest -j2) cannot clash, and the DC, mailroomd and
the test's clients, all started afterwards by this process, meet on 127.0.0.1 inside it.

    why_not = netns.enter_private_network()   # None, or why not (then use the host's ports)

Only the calling thread moves (unshare(2) acts on the caller); call it from the main thread
before starting threads that open sockets. Needs CAP_SYS_ADMIN (root; the AD DC needs root
anyway). There is no way back: the process ends inside the namespace.
"""
import ctypes
import fcntl
import os
import socket
import struct
import threading

CLONE_NEWNET = 0x40000000
SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
IFF_UP = 0x1
_IFREQ = "16sH22x"  # struct ifreq: the name, ifr_flags, the rest of the union (40 bytes)

_entered = False


def _loopback_up():
    """`ip link set lo up` without iproute2: SIOCSIFFLAGS on "lo" (netdevice(7))."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        got = fcntl.ioctl(s, SIOCGIFFLAGS, struct.pack(_IFREQ, b"lo", 0))
        flags = struct.unpack(_IFREQ, got)[1]
        fcntl.ioctl(s, SIOCSIFFLAGS, struct.pack(_IFREQ, b"lo", flags | IFF_UP))


def enter_private_network():
    """Moves this process into a new network namespace with loopback up. Returns None when
    done (or already done), else why it could not (the process stays where it was)."""
    global _entered
    if _entered:
        return None
    if threading.current_thread() is not threading.main_thread():
        return "a private network namespace must be entered from the main thread"
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWNET) != 0:
        return f"unshare(CLONE_NEWNET): {os.strerror(ctypes.get_errno())}"
    try:
        _loopback_up()
    except OSError as e:
        return f"loopback of the new network namespace: {e}"
    _entered = True
    return None


def ports_in_use(ports, host="127.0.0.1"):
    """The ports of `ports` that are in use on `host` (TCP), empty when all are free."""
    taken = []
    for port in ports:
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind((host, port))
            except OSError:
                taken.append(port)
    return taken
