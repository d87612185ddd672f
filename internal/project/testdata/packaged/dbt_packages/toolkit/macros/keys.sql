{% macro surrogate_key(fields) -%}
  {{ return(adapter.dispatch('surrogate_key', 'toolkit')(fields)) }}
{%- endmacro %}

{% macro default__surrogate_key(fields) -%}
  {%- set parts = [] -%}
  {%- for f in fields -%}
    {%- do parts.append("coalesce(cast(" ~ f ~ " as " ~ dbt.type_string() ~ "), '')") -%}
  {%- endfor -%}
  {{ dbt.hash(dbt.concat(parts)) }}
{%- endmacro %}

{% macro days_between(start, end) -%}
  {{ dbt.datediff(start, end, 'day') }}
{%- endmacro %}
