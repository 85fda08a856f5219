"""The bottom layer: the data types and helpers every stage shares (errors, output files, the bundle, units).

Nothing here imports a stage of the pipeline; see ARCHITECTURE.md for the layer order.
"""
