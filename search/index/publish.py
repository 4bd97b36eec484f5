"""Send the live index to read replicas with rsync; each replica switches generation atomically.

A replica (a local folder, or `host:/path` reached over ssh) gets the blue/green layout that
search.index.durability gives a rebuild, so a `vnsearch serve` reading it follows a publish
as it follows a local rebuild (web.index.IndexHandle re-resolves `current` on each request):

    DEST/current -> build-g<generation>-<stamp>   the generation being served
    DEST/build-g<generation>-<stamp>/             the previous one, kept for readers still on it
    DEST/.incoming-<stamp>/                       a transfer in progress, or one interrupted

A publish reads the file list of the committed generation from its MANIFEST.json, rsyncs those
files into a fresh `.incoming-*` folder (hard links, through --link-dest, for the files the
replica already holds: Whoosh never rewrites a file, so only new segments travel), renames it
to `build-*`, then renames a new link over `current`. The sidecars of the big segments
(`derived/`, decoded postings: derived data, outside the manifest) travel with them, written
on the indexing node first when missing. Until that last rename the replica's
`current` is untouched: a publish interrupted at any point leaves it on its previous
generation, whole. Older builds and interrupted transfers are removed after the switch. The
replica side runs as a POSIX shell script (GNU `mv -T`), locally or through ssh.

A remote replica is reached with one ssh command line (the publish_ssh setting: `ssh`, or e.g.
`ssh -F /etc/vnsearch/ssh_config` for another port, key or user), used both as rsync's remote
shell and to run the scripts, always in batch mode: a publish never waits for a password.
"""

from __future__ import annotations

import logging
import os
import shlex
import subprocess
import tempfile
import time
from dataclasses import dataclass

from search.index.derived import ensure_sidecars, existing_sidecars
from search.index.durability import BUILD_PREFIX, MANIFEST, live_dir, read_manifest
from search.index.sidecar import MIN_SIDECAR_DOCS
from search.index.store import IndexMissingError, open_index

log = logging.getLogger(__name__)

INCOMING_PREFIX = ".incoming-"
SSH_FAILED = 255  # ssh's exit status when it could not connect or authenticate
RSYNC_VANISHED = 24  # rsync's exit status when source files disappeared during the transfer

# Prints the replica's current build (empty if none) and the interrupted transfers to reuse.
_PREPARE = """set -eu
mkdir -p "$1" && cd "$1"
readlink current 2>/dev/null || echo
for d in .incoming-*; do [ -d "$d" ] && echo "$d"; done; true
"""

# Switches `current` to the new build, then keeps only it and the previous one.
_SWITCH = """set -eu
cd "$1"
mv -T "$2" "$3"
sync "$3" 2>/dev/null || true
rm -f current.tmp
ln -s "$3" current.tmp
mv -T current.tmp current
sync . 2>/dev/null || true
for d in build-* .incoming-*; do
  [ -e "$d" ] || continue
  [ "$d" = "$3" ] || [ "$d" = "$4" ] || rm -rf "$d"
done
rm -f MAIN_* _MAIN_* MANIFEST.json
"""


class PublishError(Exception):
    """A publish that did not switch its replica (which stays on its previous generation)."""


def ssh_command(command_line: str) -> tuple[str, ...]:
    """The words of an ssh command line (shell quoting), set to batch mode.

    :raise PublishError: the line is empty or its quotes do not close.
    """
    try:
        words = shlex.split(command_line)
    except ValueError as error:
        raise PublishError(f"ssh command {command_line!r}: {error}") from None
    if not words:
        raise PublishError("the ssh command is empty")
    return (*words, "-o", "BatchMode=yes")


DEFAULT_SSH = ssh_command("ssh")


@dataclass(frozen=True)
class Replica:
    """Where a replica lives: `host` is None for a local folder; `ssh` reaches the host."""

    host: str | None
    path: str
    ssh: tuple[str, ...] = DEFAULT_SSH

    @classmethod
    def parse(cls, destination: str, ssh: tuple[str, ...] = DEFAULT_SSH) -> Replica:
        """`host:/path` (rsync's notation: a colon before any slash) or a local folder."""
        head, colon, tail = destination.partition(":")
        if colon and head and "/" not in head:
            return cls(head, tail or ".", ssh)
        return cls(None, destination, ssh)

    def rsync_target(self, folder: str) -> list[str]:
        """rsync's arguments naming `folder` of the replica: its remote shell, then the target."""
        path = os.path.join(self.path, folder) + "/"
        if self.host is None:
            return [path]
        return [f"--rsh={shlex.join(self.ssh)}", f"{self.host}:{path}"]

    def run_script(self, script: str, *args: str) -> str:
        """Run a shell script on the replica's machine with these arguments; its stdout."""
        command = ["sh", "-s", "--", *args]
        if self.host is not None:
            command = [*self.ssh, self.host, shlex.join(command)]
        done = subprocess.run(command, input=script, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            reason = done.stderr.strip() or f"exit status {done.returncode}"
            if self.host is not None and done.returncode == SSH_FAILED:
                reason = f"cannot run commands on {self.host} over ssh: {reason}"
            raise PublishError(f"{self}: {reason}")
        return done.stdout

    def __str__(self) -> str:
        return f"{self.host}:{self.path}" if self.host else self.path


@dataclass(frozen=True)
class Published:
    """What one publish did: the generation now served, the build folder, files sent."""

    replica: Replica
    generation: int
    build: str
    files: int
    sent: int


def committed_files(index_dir: str) -> tuple[str, int, list[str]]:
    """The live folder, its committed generation and the files making it up (its manifest's).

    :raise PublishError: no index, or its manifest is missing or behind it (a commit in
        progress).
    """
    source = live_dir(index_dir)
    try:
        generation = int(open_index(source).latest_generation())
    except IndexMissingError as error:
        raise PublishError(str(error)) from None
    manifest = read_manifest(source)
    if manifest is None or manifest.get("generation") != generation:
        raise PublishError(
            f"{source}: {MANIFEST} does not describe commit {generation} "
            "(a commit is in progress, or the index predates manifests: commit once more)"
        )
    return source, generation, sorted(manifest["files"]) + [MANIFEST]


def sidecar_files(source: str, min_docs: int) -> list[str]:
    """The sidecars of the live segments of `source` holding `min_docs` documents or more,
    written first where missing (search.index.sidecar), as paths relative to it: a replica
    gets them with the segments, so its server maps them from its first search instead of
    decoding new segments until it restarts."""
    index = open_index(source)
    with index.reader() as reader:
        ensure_sidecars(source, reader, min_docs)
        segments = [leaf.segment() for leaf, _ in reader.leaf_readers()]
    return [os.path.relpath(path, source) for path in existing_sidecars(source, segments, min_docs)]


def publish(
    index_dir: str,
    destination: str,
    bwlimit_kib: int = 0,
    ssh: tuple[str, ...] = DEFAULT_SSH,
    sidecar_min_docs: int = MIN_SIDECAR_DOCS,
) -> Published:
    """Send the committed generation of `index_dir` to one replica and switch it there, with
    the sidecars of its segments of `sidecar_min_docs` documents or more (`sidecar_files`);
    `ssh` (see `ssh_command`) reaches a `host:/path` replica."""
    replica = Replica.parse(destination, ssh)
    source, generation, files = committed_files(index_dir)
    try:
        files += sidecar_files(source, sidecar_min_docs)
    except OSError as error:  # a read-only source: the replica's server writes its own
        log.warning("%s: decoded postings not sent: %s", source, error)
    current, *interrupted = replica.run_script(_PREPARE, replica.path).splitlines()
    previous = os.path.basename(current.strip().rstrip("/"))
    stamp = f"{time.strftime('%Y%m%d-%H%M%S')}.{time.time_ns() % 10**9:09d}"
    incoming = f"{INCOMING_PREFIX}{stamp}"
    build = f"{BUILD_PREFIX}g{generation}-{stamp}"
    reuse = [name for name in [previous, *interrupted] if name]
    sent = _rsync(source, files, replica.rsync_target(incoming), reuse, bwlimit_kib)
    replica.run_script(_SWITCH, replica.path, incoming, build, previous)
    return Published(replica, generation, build, len(files), sent)


def _rsync(source: str, files: list[str], target: list[str], reuse: list[str], bwlimit: int) -> int:
    """Copy `files` of `source` to `target` (rsync's arguments naming it), hard-linking those
    equal in the `reuse` folders (beside the target); the number of files actually sent."""
    with tempfile.NamedTemporaryFile("w", suffix=".list", encoding="utf-8") as listing:
        listing.write("".join(name + "\n" for name in files))
        listing.flush()
        command = ["rsync", "-a", "--fsync", f"--files-from={listing.name}", "--out-format=%n"]
        command += [f"--link-dest=../{name}" for name in reuse[:20]]  # rsync's limit
        if bwlimit > 0:
            command.append(f"--bwlimit={bwlimit}")
        done = subprocess.run(
            [*command, source + "/", *target], capture_output=True, text=True, check=False
        )
    if done.returncode == RSYNC_VANISHED:
        raise PublishError(f"{source}: a commit replaced files during the transfer; publish again")
    if done.returncode != 0:
        raise PublishError(f"rsync to {target[-1]}: {done.stderr.strip()}")
    return len([line for line in done.stdout.splitlines() if line.strip()])
