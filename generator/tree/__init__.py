"""The output tree: a repository -> `rendered/` and the locks on disk, written safely, compared or described.

Enters: `Settings` and the repository's files (through fleetfiles), the stamp and records of the last
    render, and the `rendered/` tree as it is on disk or, for `plan --base`, at a git revision.
Leaves: `compile.Compiled` (desired files, locks, records), and the three ends of it: files written
    (`sinks.write`), stale paths and their diffs (`sinks.compare`, `diff`) and plans (`sinks.describe`,
    `plan`).
Must not import: edits, cli.

Modules: `repository` (load, validate and compile, reusing what the stamp vouches for), `compile` (the
pure core), `record`, `survey` and `stamp` (what lets an unchanged pool be reused unread), `digest_cache`
(the survey's digests, trusted while a file's stat facts hold, kept in .git), `write`,
`staging` and `files` (safe writes), `runlock` (one writing run at a time), `sinks` (write, compare,
describe), `diff` (`check --diff`), `revision` (rendered/ and the locks at a git revision, read with git),
`plan` (old vs new, in words), `revisions` (each server's template revision, named by its hash),
`rollout` (where each rollout stands, plan's words for it, the lock edits of `rollout next` and `undo`).
"""
