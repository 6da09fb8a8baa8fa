"""A split import: one prepared file sent as K partitions, each a Prefect flow run.

README "Split across workers"; flows.split.parent, flows.split.stage, flows.import_partition.
"""
