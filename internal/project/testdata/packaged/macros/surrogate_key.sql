{#- This project's own key on PostgreSQL: dispatch finds it before the
    toolkit's, because dispatch: in dbt_project.yml searches this project
    first. -#}
{% macro postgres__surrogate_key(fields) -%}
md5({{ fields | join(" || '-' || ") }})
{%- endmacro %}
