"""A policy's own additions to the known-safe list (ladder level 4), checked when it loads.

``[[safe_commands]]`` rules name argument patterns (``make test``, ``npm run *``,
``cargo test **``): a command they match no longer asks for being unknown. They clear only
that ask: a destructive form is still denied, a path still may not leave the workspace, and
anything dynamic still asks. A pattern that would match a known destructive form
(``git push **`` matches ``git push --force``) is a load error naming the rule and the form,
so nobody widens the list by accident.

Pattern syntax: words separated by spaces (shell quoting allowed); the first is the program
name; every other word is an ``fnmatch`` glob matching exactly one argument; a last word
``**`` matches any number of further arguments.
"""

from __future__ import annotations

import fnmatch
import os
import shlex
from dataclasses import dataclass

# One or more spellings of every destructive form the detectors know, as a policy author
# might accidentally cover them with a pattern.
DESTRUCTIVE_FORMS = (
    "rm -rf /", "rm -r build", "rm -f notes.txt", "rm --recursive build", "rm notes.txt",
    "find . -delete", "find . -exec rm {} ;", "git push --force", "git push -f origin main",
    "git push origin +main", "git push origin :main", "git push --delete origin main",
    "git push --prune", "git push --mirror", "git reset --hard", "git clean -fdx",
    "git clean -f", "git branch -D main", "git branch --delete main", "git rm -rf src",
    "git checkout -- .", "git restore .", "git stash drop", "git stash clear",
    "git filter-branch", "git rebase --exec x", "git reflog expire --all",
    "git submodule foreach x", "git -c alias.x=y x", "dd of=/dev/sda", "mkfs.ext4 /dev/sda",
    "mke2fs /dev/sda", "wipefs -a /dev/sda", "blkdiscard /dev/sda", "shred x", "truncate -s 0 x",
    "chmod -R 777 /", "chown -R nobody /", "tee /dev/sda", "tar --remove-files -cf a.tar x",
    "sh -c x", "bash -c x", "sudo x", "su -c x", "eval x", "xargs rm", "python -c x",
    "python x.py", "node -e x", "perl -e x", "ruby -e x", "awk BEGIN{system(x)}",
    "sed -i d x", "sed e", "psql -c DROP", "psql -f x.sql", "mysql -e DROP",
    "sqlite3 app.db DROP", "duckdb app.db DROP", "dropdb prod", "shutdown now", "reboot",
    "curl -o x http://x", "wget http://x", "cp x /etc", "mv x /etc", "unlink x", "rmdir x",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class SafePattern:
    """One pattern of a ``[[safe_commands]]`` rule."""

    rule: str
    text: str
    words: tuple[str, ...]

    @classmethod
    def parse(cls, rule: str, text: str) -> SafePattern:
        words = tuple(shlex.split(text))
        if not words:
            raise ValueError(f"pattern {text!r} is empty; give a program name and arguments")
        return cls(rule, text, words)

    def matches(self, argv: list[str]) -> bool:
        """True when ``argv`` (a program and its arguments) fits this pattern."""
        if not argv or os.path.basename(argv[0]) != self.words[0]:
            return False
        return _match(self.words[1:], argv[1:])

    def destructive_match(self) -> str | None:
        """The first known destructive form this pattern would allow, or None."""
        for form in DESTRUCTIVE_FORMS:
            if self.matches(shlex.split(form)):
                return form
        return None


def _match(patterns: tuple[str, ...], args: list[str]) -> bool:
    if patterns == ("**",):
        return True
    if not patterns or not args:
        return not patterns and not args
    return fnmatch.fnmatchcase(args[0], patterns[0]) and _match(patterns[1:], args[1:])
