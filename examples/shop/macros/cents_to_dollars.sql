{#- Converts an integer amount of cents into a fixed-scale decimal amount. -#}
{% macro cents_to_dollars(column_name, scale=2) -%}
    cast(round(cast({{ column_name }} as numeric) / 100, {{ scale }}) as numeric(12, {{ scale }}))
{%- endmacro %}
