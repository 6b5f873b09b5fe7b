"""Throwaway PostgreSQL servers for the fault and scale-out tests: each in its own temporary
folder, on a free port, run as the postgres user; never the shared server on 5432."""

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time

BIN = sorted(glob.glob("/usr/lib/postgresql/*/bin"))[-1]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def as_postgres(*args, **kwargs):
    """Runs a PostgreSQL program as the postgres user (initdb refuses root)."""
    return subprocess.run(["runuser", "-u", "postgres", "--", *args], check=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kwargs)


class Server:
    """A PostgreSQL server of our own. `start`, `stop`, `kill` act on it alone."""

    def __init__(self, name="folio", datadir=None, port=None, initialize=True):
        self.port = port or free_port()
        self.root = tempfile.mkdtemp(prefix=f"folio-pg-{name}-")
        os.chmod(self.root, 0o755)
        shutil.chown(self.root, "postgres", "postgres")
        self.datadir = datadir or os.path.join(self.root, "data")
        self.log = os.path.join(self.root, "server.log")
        if initialize:
            as_postgres(f"{BIN}/initdb", "-D", self.datadir, "-U", "postgres", "--auth=trust",
                        "--no-sync", "-E", "UTF8")
            with open(os.path.join(self.datadir, "postgresql.conf"), "a") as conf:
                conf.write("\nfsync = off\nfull_page_writes = off\nlisten_addresses = '127.0.0.1'\n"
                           "wal_level = replica\nmax_wal_senders = 4\nhot_standby = on\n"
                           "max_connections = 200\n")
            with open(os.path.join(self.datadir, "pg_hba.conf"), "a") as hba:
                hba.write("\nhost replication all 127.0.0.1/32 trust\n")

    def url(self, database="postgres"):
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def start(self):
        as_postgres(f"{BIN}/pg_ctl", "-D", self.datadir, "-l", self.log, "-o",
                    f"-p {self.port} -k {self.root}", "-w", "start")

    def stop(self, mode="fast"):
        as_postgres(f"{BIN}/pg_ctl", "-D", self.datadir, "-m", mode, "-w", "stop")

    def kill(self):
        """SIGKILL to the postmaster: a crash, not a shutdown."""
        with open(os.path.join(self.datadir, "postmaster.pid")) as pid:
            os.kill(int(pid.readline()), 9)

    def psql(self, sql, database="postgres"):
        return as_postgres(f"{BIN}/psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
                           "-d", database, "-At", "-c", sql).stdout.strip()

    def create_database(self, name):
        self.psql(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def replica(self, name="replica"):
        """A streaming replica of this server, made with pg_basebackup (not started)."""
        standby = Server(name, initialize=False)
        as_postgres(f"{BIN}/pg_basebackup", "-h", "127.0.0.1", "-p", str(self.port), "-U",
                    "postgres", "-D", standby.datadir, "-R", "-X", "stream")
        return standby

    def remove(self):
        try:
            self.stop("immediate")
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.root, ignore_errors=True)


def wait_for(predicate, timeout, interval=0.05):
    """Polls until `predicate()` is true; returns the seconds it took, or None."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if predicate():
            return time.monotonic() - started
        time.sleep(interval)
    return None
