"""DAG authoring: DAG, BaseOperator, task groups, params, trigger rules, dependencies, capture."""
