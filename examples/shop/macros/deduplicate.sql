{#-
  Keeps one row per key from the query passed in a call block: the first
  row by `order_by` within each `partition_by` group. `columns` lists the
  columns the inner query returns (and the macro returns).
  See models/staging/stg_customers.sql for an example.
-#}
{% macro deduplicate(columns, partition_by, order_by) -%}
select
    {{ columns | join(', ') }}
from (
    select
        {{ columns | join(', ') }},
        row_number() over (partition by {{ partition_by }} order by {{ order_by }}) as dedupe_rank
    from (
        {{ caller() }}
    ) as candidate_rows
) as ranked_rows
where dedupe_rank = 1
{%- endmacro %}
