{#- Divides two expressions, returning null instead of failing when the denominator is zero. -#}
{% macro safe_divide(numerator, denominator) -%}
    (cast({{ numerator }} as numeric) / nullif(cast({{ denominator }} as numeric), 0))
{%- endmacro %}
