"""The watched folder: files dropped into ``ROOT/inbox``, each imported exactly once.

layout (folders, claiming by rename) -> settle (when a drop is complete) -> intake (claim,
import, file the result) -> finish / retry / recovery (where a file ends, retries, claims a
dead watcher left); registry / registry_db remember contents across watchers and machines;
scan_history keeps Prefect's run list free of empty scans.
"""
