"""``zizq tls``: a small certificate authority for Zizq's listeners (spec 11).

``certs`` makes ECDSA P-256 keys and X.509 certificates with
``cryptography`` and reads and writes them as PEM; ``files`` owns the output
directory's file names, the ``wrote:``/``skip:`` lines and the reuse rules;
``operations`` is one function per subcommand (init, ca, server-cert,
client-cert), which ``management/commands/tls.py`` calls.
"""
