"""The watched folder: files dropped into ``ROOT/inbox``, each imported exactly once.

layout (folders, claiming by rename) -> settle (when a drop is complete) -> intake (claim,
import, file the result) -> finish / retry / held / recovery (where a file ends, retries, what a
person must fix first, claims a dead watcher left); registry / registry_db remember contents
across watchers and machines; scan_history keeps Prefect's run list free of empty scans.
"""
