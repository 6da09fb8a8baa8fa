"""Column contracts between the pipeline stages, as Pandera schemas (polars backend).

Import the module you need (``schemas.codes``, ``schemas.raw_leads``, ``schemas.clean_leads``,
``schemas.results``): this package re-exports nothing, so that code needing only the reason
codes (the connectors) does not pay for importing pandera.
"""
