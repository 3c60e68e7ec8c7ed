"""Destructive-command detection on a real shell parser: every bypass class of LADDER.md L4."""

from __future__ import annotations

import pytest

from pytest_opsladder.guardrails import Policy, Verdict


def decide(policy: Policy, command: str) -> tuple[str, str]:
    decision = policy.decide("run_shell", {"command": command})
    return decision.verdict.value, decision.rule


@pytest.mark.parametrize(
    "command",
    [
        "rm -rf build",
        "rm -fr build",
        "rm -r -f build",
        "rm -f -r build",
        "rm --recursive --force build",
        "rm --force --recursive build",
        "rm -R build",
        "rm -rv --force build",
        "rm build -rf",
        "/bin/rm -rf build",
    ],
)
def test_rm_is_denied_however_flags_are_ordered_or_spelled(policy: Policy, command: str) -> None:
    assert decide(policy, command) == ("deny", "shell:rm-recursive-force")


@pytest.mark.parametrize(
    ("command", "rule"),
    [
        ("ls && rm -rf build", "shell:rm-recursive-force"),
        ("ls; rm -rf build", "shell:rm-recursive-force"),
        ("ls || git push --force", "git:force-push"),
        ("ls\nfind . -delete", "shell:find-delete"),
        ("ls | xargs rm -rf", "shell:rm-recursive-force"),
        ("(cd src && rm -rf build)", "shell:rm-recursive-force"),
        ("{ ls; git reset --hard; }", "git:reset-hard"),
        ("ls & git branch -D main", "git:branch-delete"),
    ],
)
def test_compound_commands_are_split_and_every_part_checked(
    policy: Policy, command: str, rule: str
) -> None:
    assert decide(policy, command) == ("deny", rule)


@pytest.mark.parametrize(
    "command",
    [
        "sudo rm -rf build",
        "sudo -u root rm -rf build",
        "env rm -rf build",
        "env -i PATH=/x rm -rf build",
        "timeout 5 rm -rf build",
        "timeout -s KILL 5 rm -rf build",
        "nice -n 10 rm -rf build",
        "nohup rm -rf build",
        "ionice -c 3 rm -rf build",
        "stdbuf -o L rm -rf build",
        "command rm -rf build",
        "exec rm -rf build",
        "xargs -0 rm -rf",
        "sh -c 'rm -rf build'",
        'bash -c "rm -rf build"',
        "bash -lc 'ls; rm -rf build'",
        "sh -c \"bash -c 'rm -rf build'\"",
        "find . -name '*.o' -exec rm -rf {} +",
        "sudo timeout 5 nice sh -c 'rm -rf build'",
    ],
)
def test_wrappers_are_unwrapped(policy: Policy, command: str) -> None:
    assert decide(policy, command) == ("deny", "shell:rm-recursive-force")


@pytest.mark.parametrize(
    ("command", "rule"),
    [
        ("sudo ls", "shell:wrapper"),
        ("cat script.txt | bash", "shell:interpreter"),
        ("bash script.sh", "shell:interpreter"),
        ("eval ls", "shell:eval"),
        ("ls | xargs cat", "shell:xargs"),
        ("env FOO=1 ls", "shell:env"),
        ("python -c 'import os'", "shell:interpreter"),
        ("ssh host ls", "shell:remote"),
        ("alias ls='rm -rf'", "shell:state"),
        ("git rm notes.txt", "git:rm"),
        ("git checkout main", "git:discard"),
        ("git restore --staged notes.txt", "git:discard"),
        ("git stash drop", "git:discard"),
        ("source env.sh", "shell:state"),
        (". env.sh", "shell:state"),
        ("chmod -R 777 src", "shell:permissions"),
        ("chown --recursive bob src", "shell:permissions"),
    ],
)
def test_wrappers_that_cannot_be_seen_through_escalate_to_ask(
    policy: Policy, command: str, rule: str
) -> None:
    assert decide(policy, command) == ("ask", rule)


@pytest.mark.parametrize(
    "command",
    [
        "ls $HOME",
        'ls "$HOME"',
        "ls ${DIR}/src",
        "cat $(ls)",
        "cat `ls`",
        "diff <(ls) <(ls src)",
        "echo $((1+2))",
        "X=1 ls",
        "export PATH=/tmp",
        "ls *.py",
        "ls src/?",
        "ls {a,b}",
        "ls ~/x",
        "\\rm x",
        "r''m x",
        '"r"m x',
        "$'\\x72m' x",
        "cat <<EOF\nhello\nEOF",
        "cat <<< hello",
        "ls > out.txt",
        "ls 2> err.txt",
        "for f in a b; do ls $f; done",
        "if true; then ls; fi",
        "f() { ls; }",
        "echo 'unterminated",
        "ls (",
        "",
        "   ",
        "ls " + "a" * 5000,
    ],
)
def test_anything_dynamic_or_unparseable_asks_never_allows(policy: Policy, command: str) -> None:
    verdict, rule = decide(policy, command)
    assert verdict == "ask", (command, rule)


@pytest.mark.parametrize(
    "command",
    [
        "rm -rf $DIR",
        "rm -rf `pwd`",
        "echo $(rm -rf build)",
        "cat <(git push -f)",
        "X=1 rm -rf build",
        "for f in a; do rm -rf $f; done",
        "rm -rf build > /dev/null",
        "\\rm -rf build",  # a backslash only skips aliases: rm runs
        "r''m -rf build",
        '"rm" -rf build',
        "'rm' -rf build",
        '"r"m -rf build',
        "\\git push -f",
        "g''it reset --hard",
        "git push \\--force",  # bash passes --force
        "git push --for\\ce origin main",
        "sudo \\rm -rf /",
    ],
)
def test_dynamic_parts_never_hide_a_destructive_command(policy: Policy, command: str) -> None:
    assert decide(policy, command)[0] == "deny"


@pytest.mark.parametrize(
    ("command", "line"),
    [
        ("time -o out.txt ls", "ask shell:writes: time -o writes 'out.txt'"),
        ("/usr/bin/time --output=out.txt ls", "ask shell:writes: time --output writes"),
        ("command time -a -o out.txt ls", "ask shell:writes: time -o writes 'out.txt'"),
        ("/usr/bin/time -o /etc/passwd ls", "deny shell:path-outside-workspace: time: path"),
        ("time -o out.txt rm -rf build", "deny shell:rm-recursive-force"),
        ("ionice -c3 -p 1", "ask shell:processes: ionice -p changes running processes"),
    ],
)
def test_a_wrapper_option_that_writes_or_changes_something_is_not_transparent(
    policy: Policy, command: str, line: str
) -> None:
    assert policy.decide("run_shell", {"command": command}).line().startswith(line), command


@pytest.mark.parametrize(
    "command", ["time ls", "time -p ls", "/usr/bin/time -f %e ls", "ionice -c3 ls", "timeout 5 ls"]
)
def test_transparent_wrappers_of_safe_commands_stay_allowed(policy: Policy, command: str) -> None:
    assert decide(policy, command) == ("allow", "shell-allowed")


@pytest.mark.parametrize(
    "command",
    [
        "ls\u200b -la",  # zero-width space
        "rm\u00a0-rf x",  # no-break space
        "ls \u2212la",  # minus sign, not a hyphen
        "l\u0455 -la",  # Cyrillic dze looks like s
        "ls\u202e -la",  # right-to-left override
        "ls\x07",  # a control character
    ],
)
def test_unicode_look_alikes_and_invisible_characters_ask(policy: Policy, command: str) -> None:
    verdict, rule = decide(policy, command)
    assert (verdict, rule) == ("ask", "shell:dynamic")


@pytest.mark.parametrize(
    ("command", "rule"),
    [
        ("git push --force origin main", "git:force-push"),
        ("git push -f", "git:force-push"),
        ("git push -uf origin main", "git:force-push"),
        ("git push --force-with-lease", "git:force-push"),
        ("git push origin +main", "git:force-push"),
        ("git push origin +HEAD:refs/heads/main", "git:force-push"),
        ("git -C src push --force", "git:force-push"),
        ("git --no-pager push origin --force", "git:force-push"),
        ("git push origin :old-branch", "git:push-delete"),
        ("git push --delete origin old", "git:push-delete"),
        ("git reset --hard", "git:reset-hard"),
        ("git reset HEAD~3 --hard", "git:reset-hard"),
        ("git branch -D feature", "git:branch-delete"),
        ("git branch -d feature", "git:branch-delete"),
        ("git branch --delete --force feature", "git:branch-delete"),
        ("git branch -fD feature", "git:branch-delete"),
        ("git clean -fdx", "git:clean"),
        ("git rm -rf src", "git:rm"),
        ("git rm -r --force src", "git:rm"),
        ("find . -name x -delete", "shell:find-delete"),
        ("dd if=/dev/zero of=disk.img", "shell:dd"),
        ("shred secrets.txt", "shell:shred"),
        ("mkfs.ext4 disk.img", "shell:disk"),
    ],
)
def test_git_and_file_destruction_is_denied(policy: Policy, command: str, rule: str) -> None:
    assert decide(policy, command) == ("deny", rule)


@pytest.mark.parametrize(
    ("command", "rule"),
    [
        ("git checkout -- .", "git:discard"),
        ("git checkout .", "git:discard"),
        ("git checkout HEAD~3 -- src", "git:discard"),
        ("git checkout src", "git:discard"),  # an existing directory: a path, not a branch
        ("git checkout -f main", "git:discard"),
        ("git checkout --forc main", "git:discard"),
        ("git switch --discard-changes main", "git:discard"),
        ("git switch -f main", "git:discard"),
        ("git restore .", "git:discard"),
        ("git restore --source=HEAD~5 -- src", "git:discard"),
        ("git restore -SW src", "git:discard"),
        ("git stash clear", "git:discard"),
        ("git gc --prune=now", "git:prune"),
        ("git gc --prun=all", "git:prune"),
        ("git prune", "git:prune"),
        ("git update-ref -d refs/heads/main", "git:branch-delete"),
        ("git symbolic-ref --delete HEAD", "git:branch-delete"),
        ("git tag -d v1.0", "git:branch-delete"),
        ("git tag --force v1.0 HEAD~3", "git:branch-delete"),
        ("git worktree remove --force ../wt", "git:discard"),
    ],
)
def test_git_forms_that_throw_away_work_or_history_are_denied(
    policy: Policy, command: str, rule: str
) -> None:
    assert decide(policy, command) == ("deny", rule)


@pytest.mark.parametrize(
    ("command", "rule"),
    [
        ("find . -type f -exec rm {} \\;", "shell:find-delete"),
        ("find . -name '*.log' -execdir rm -- {} +", "shell:find-delete"),
        ("find . -exec sudo unlink {} +", "shell:find-delete"),
        ("find . -exec sh -c 'rm \"$1\"' _ {} \\;", "shell:find-delete"),
        ("find . -exec truncate -s0 {} +", "shell:find-delete"),
        ("find . -name '*.tmp' -print0 | xargs -0 rm", "shell:mass-delete"),
        ("git ls-files | xargs git rm", "shell:mass-delete"),
        ("parallel rm ::: a b", "shell:mass-delete"),
        ("rsync -a --delete src/ backup/", "shell:rsync-delete"),
        ("rsync -av --delete-after ./ mirror/", "shell:rsync-delete"),
        ("rsync -a --del src/ b/", "shell:rsync-delete"),
        ("rsync --remove-source-files -a src/ b/", "shell:rsync-delete"),
    ],
)
def test_deleting_every_file_a_command_is_given_is_denied_like_find_delete(
    policy: Policy, command: str, rule: str
) -> None:
    assert decide(policy, command) == ("deny", rule)


@pytest.mark.parametrize(
    "command",
    ["find . -exec grep -l rm {} +", "ls | xargs cat", "rsync -a src/ backup/", "rm notes.txt"],
)
def test_per_file_commands_that_delete_nothing_ask(policy: Policy, command: str) -> None:
    assert decide(policy, command)[0] == "ask"


@pytest.mark.parametrize(
    "command",
    [
        "curl -X DELETE https://api.example.com/users/1",
        "curl -XDELETE http://localhost:9200/logs",
        "curl -sSX delete https://api.example.com/v1/db",
        "curl --request DELETE https://api.example.com/v1/db",
        "wget --method=DELETE https://api.example.com/x",
        "wget --meth DELETE https://api.example.com/x",
        "http DELETE https://api.example.com/x",
    ],
)
def test_an_http_delete_is_denied(policy: Policy, command: str) -> None:
    assert decide(policy, command) == ("deny", "shell:http-delete")


@pytest.mark.parametrize(
    "command",
    ["curl https://api.example.com", "curl -X POST -d '{}' https://x", "curl -oX https://x"],
)
def test_other_http_requests_ask(policy: Policy, command: str) -> None:
    assert decide(policy, command) == ("ask", "shell:network")


@pytest.mark.parametrize(
    ("command", "rule"),
    [
        ("python -c 'import shutil; shutil.rmtree(\"/\")'", "shell:inline-code"),
        ("python3 -Bc 'from shutil import rmtree; rmtree(\"build\")'", "shell:inline-code"),
        ("python -c \"__import__('shutil').rmtree('x')\"", "shell:inline-code"),
        ("python -c \"import os; os.system('rm -rf build')\"", "shell:rm-recursive-force"),
        ("python -c \"import subprocess as s; s.run(['git', 'push', '-f'])\"", "git:force-push"),
        (
            "python -c \"import subprocess; subprocess.call('git reset --hard', shell=True)\"",
            "git:reset-hard",
        ),
        (
            "node -e \"require('fs').rmSync('/', {recursive: true, force: true})\"",
            "shell:inline-code",
        ),
        ("node --eval=\"fs.rmdirSync('d', {recursive:true})\"", "shell:inline-code"),
        (
            "node -e \"require('child_process').execSync('rm -rf build')\"",
            "shell:rm-recursive-force",
        ),
        ("perl -e 'system(\"rm -rf /\")'", "shell:rm-recursive-force"),
        ("perl -MFile::Path -e 'rmtree(\"x\")'", "shell:inline-code"),
        ("ruby -e 'FileUtils.rm_rf(\"x\")'", "shell:inline-code"),
        ("ruby -e '`git clean -fdx`'", "git:clean"),
    ],
)
def test_inline_code_that_visibly_destroys_is_denied(
    policy: Policy, command: str, rule: str
) -> None:
    assert decide(policy, command) == ("deny", rule)


@pytest.mark.parametrize(
    "command",
    [
        "python -c \"import os; os.remove('notes.txt')\"",  # one file, like rm notes.txt
        "python -c 'print(\"shutil.rmtree\")'",  # a string, not a call
        "python -c '# shutil.rmtree(x)'",
        "python -c 'x = 1 +'",
        "node -e \"fs.unlinkSync('a')\"",
        "python script.py -c 'import shutil; shutil.rmtree(1)'",  # the script's own argument
    ],
)
def test_other_inline_code_still_asks(policy: Policy, command: str) -> None:
    assert decide(policy, command) == ("ask", "shell:interpreter")


@pytest.mark.parametrize(
    "command",
    [
        "git checkout main",
        "git checkout -b feature",
        "git checkout -p -- src",
        "git switch main",
        "git restore --staged src",
        "git stash drop",
        "git gc",
        "git prune --dry-run",
        "git update-ref refs/heads/x HEAD",
        "git worktree remove ../wt",
    ],
)
def test_git_forms_that_keep_uncommitted_work_ask(policy: Policy, command: str) -> None:
    assert decide(policy, command)[0] == "ask"


def test_git_tag_and_worktree_list_stay_allowed(policy: Policy) -> None:
    assert decide(policy, "git tag --list") == ("allow", "shell-allowed")
    assert decide(policy, "git worktree list") == ("allow", "shell-allowed")


@pytest.mark.parametrize(
    ("command", "rule"),
    [
        ("psql -c 'DROP TABLE users'", "sql:drop"),
        ("psql --command='drop table users'", "sql:drop"),
        ("psql -d app -c 'TRUNCATE orders'", "sql:truncate"),
        ("psql -c 'DELETE FROM orders'", "sql:delete-without-where"),
        ("mysql -e 'UPDATE users SET admin = 1'", "sql:update-without-where"),
        ("sqlite3 app.db 'delete from t -- where id = 1'", "sql:delete-without-where"),
        ("sqlite3 app.db 'select 1; drop table t'", "sql:drop"),
    ],
)
def test_sql_given_to_database_clients_is_parsed(policy: Policy, command: str, rule: str) -> None:
    assert decide(policy, command) == ("deny", rule)


@pytest.mark.parametrize(
    "command",
    [
        "ls -la src",
        "git status && git diff --stat",
        "git log --oneline | head -5",
        'echo "rm -rf /"',
        "echo 'git push --force'",
        "printf '%s\\n' 'DROP TABLE users'",
        "grep -n 'rm -rf' src",
        "ls # rm -rf /",
        "psql -c 'SELECT count(*) FROM orders'",
        "sqlite3 app.db \"select 'drop table x'\"",
        "git branch --list",
        "command -v rm",
        "git stash list",
        "ls 2>&1 | head",
        "git diff HEAD~1",
    ],
)
def test_harmless_commands_that_mention_danger_stay_allowed(policy: Policy, command: str) -> None:
    assert decide(policy, command) == ("allow", "shell-allowed")


@pytest.mark.parametrize(
    "command",
    [
        "cp src /tmp/x",
        "cp README.md /etc/motd",
        "echo x > /etc/hosts",
        "echo x >> ../notes",
        "sed -i d /etc/hosts",
        "mv /etc/hosts x",  # mv removes the source
        "tee /etc/hosts",
        "sort -o /etc/passwd x",
    ],
)
def test_paths_written_outside_the_workspace_are_denied(policy: Policy, command: str) -> None:
    assert decide(policy, command) == ("deny", "shell:path-outside-workspace")


@pytest.mark.parametrize(
    "command",
    [
        "cat /etc/passwd",
        "ls ../..",
        "ls /tmp",
        "cat src/../../secret",
        "cat < /etc/hosts",
        "grep -r password /home",
        "find / -name id_rsa",
        "cp /etc/hosts hosts.copy",
        "sed -n 1p /etc/hosts",
        "git -C /etc status",
    ],
)
def test_paths_only_read_outside_the_workspace_ask(policy: Policy, command: str) -> None:
    """Reading outside the workspace destroys nothing, and is not known to be safe: a human
    decides (``cat ~/.ssh/id_rsa`` hands a key to the model)."""
    findings = policy.decisions("run_shell", {"command": command})
    assert decide(policy, command)[0] == "ask"
    assert "shell:read-outside-workspace" in {d.rule for d in findings}, findings


def test_a_symlink_out_of_the_workspace_is_outside(policy: Policy) -> None:
    assert policy.workspace is not None
    import os

    os.symlink("/etc", os.path.join(policy.workspace.root, "etc-link"))
    assert decide(policy, "cat etc-link/hostname") == ("ask", "shell:read-outside-workspace")
    assert decide(policy, "cp x etc-link/hostname") == ("deny", "shell:path-outside-workspace")
    assert decide(policy, "cat src/../src") == ("allow", "shell-allowed")


def test_plain_rm_of_one_file_asks(policy: Policy) -> None:
    assert decide(policy, "rm notes.txt") == ("ask", "shell:delete")


def test_a_command_argument_that_is_not_text_asks(policy: Policy) -> None:
    decision = policy.decide("run_shell", {"command": ["rm", "-rf", "/"]})
    assert decision.verdict is Verdict.ASK
    assert decision.rule == "shell:unreadable"


def _spellings() -> list[str]:
    import itertools

    out = []
    for recursive, force in itertools.product(["-r", "-R", "--recursive"], ["-f", "--force"]):
        out += [
            f"rm {recursive} {force} x",
            f"rm {force} {recursive} x",
            f"rm x {force} {recursive}",
        ]
        if not recursive.startswith("--") and not force.startswith("--"):
            out += [f"rm {recursive}{force[1]} x", f"rm {force}{recursive[1]} x"]
    return out


@pytest.mark.parametrize("command", _spellings())
def test_every_spelling_and_order_of_rm_recursive_force_is_denied(
    policy: Policy, command: str
) -> None:
    assert decide(policy, command) == ("deny", "shell:rm-recursive-force")


def test_quoted_text_of_any_printable_characters_is_only_text(policy: Policy) -> None:
    import random
    import string

    rng = random.Random(8)
    alphabet = string.printable.replace("'", "").replace("\r", "").replace("\x0b", "")
    alphabet = alphabet.replace("\x0c", "")
    for _ in range(300):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 60)))
        assert decide(policy, f"echo '{text}'") == ("allow", "shell-allowed"), text


def test_random_input_never_crashes_and_never_allows_non_ascii(policy: Policy) -> None:
    import random

    rng = random.Random(4)
    pieces = ["rm", "-rf", " ", "'", '"', "$", "(", ")", "`", "|", ";", "&", "\\", "\n", "*"]
    pieces += ["<<", ">", "sh -c", "git", "push", "+", "\u200b", "\u0440", "{", "}", "#", "~"]
    for _ in range(500):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 25)))
        verdict, _rule = decide(policy, text)
        if not text.isascii():
            assert verdict != "allow", text
        if "rm" in text.split() and "-rf" in text.split() and verdict == "allow":
            pytest.fail(f"allowed a command containing rm -rf words: {text!r}")
