{#- Where dbt puts nodes, and what tests and incremental models ask of it;
    written for dataops. A project overrides generate_schema_name,
    generate_alias_name and generate_database_name with macros of its own. -#}

{% macro generate_schema_name(custom_schema_name=none, node=none) -%}
  {{- return(adapter.dispatch('generate_schema_name', 'dbt')(custom_schema_name, node)) -}}
{%- endmacro %}
{% macro default__generate_schema_name(custom_schema_name, node) -%}
  {%- if custom_schema_name is none -%}{{ target.schema }}{%- else -%}{{ target.schema }}_{{ custom_schema_name | trim }}{%- endif -%}
{%- endmacro %}
{% macro generate_schema_name_for_env(custom_schema_name, node) -%}
  {%- if target.name == 'prod' and custom_schema_name is not none -%}{{ custom_schema_name | trim }}{%- else -%}{{ target.schema }}{%- endif -%}
{%- endmacro %}

{% macro generate_alias_name(custom_alias_name=none, node=none) -%}
  {{- return(adapter.dispatch('generate_alias_name', 'dbt')(custom_alias_name, node)) -}}
{%- endmacro %}
{% macro default__generate_alias_name(custom_alias_name, node) -%}
  {%- if custom_alias_name -%}{{ custom_alias_name | trim }}
  {%- elif node.version -%}{{ node.name ~ "_v" ~ (node.version | replace(".", "_")) }}
  {%- else -%}{{ node.name }}{%- endif -%}
{%- endmacro %}

{% macro generate_database_name(custom_database_name=none, node=none) -%}
  {{- return(adapter.dispatch('generate_database_name', 'dbt')(custom_database_name, node)) -}}
{%- endmacro %}
{% macro default__generate_database_name(custom_database_name, node) -%}
  {%- if custom_database_name is none -%}{{ target.database }}{%- else -%}{{ custom_database_name }}{%- endif -%}
{%- endmacro %}

{% macro get_where_subquery(relation) -%}
  {{- return(adapter.dispatch('get_where_subquery', 'dbt')(relation)) -}}
{%- endmacro %}
{% macro default__get_where_subquery(relation) -%}
  {%- set where = config.get('where', '') -%}
  {%- if where -%}
    {{- return('(select * from ' ~ relation ~ ' where ' ~ where ~ ') dbt_subquery') -}}
  {%- else -%}
    {{- return(relation) -}}
  {%- endif -%}
{%- endmacro %}

{% macro should_full_refresh() %}{{ return(false) }}{% endmacro %}
{% macro load_relation(relation) %}{{ return(adapter.get_relation(relation.database, relation.schema, relation.identifier)) }}{% endmacro %}
{% macro get_columns_in_relation(relation) %}{{ return(adapter.get_columns_in_relation(relation)) }}{% endmacro %}
{% macro get_columns_in_query(select_sql) -%}
  {%- if not execute -%}{{ return([]) }}{%- endif -%}
  {%- set result = run_query('select * from (' ~ select_sql ~ ') as __dbt_sbq where false limit 0') -%}
  {{- return(result.column_names | list) -}}
{%- endmacro %}

{% macro should_store_failures() -%}
  {%- set store = config.get('store_failures') -%}
  {{- return(store if store is not none else flags.STORE_FAILURES) -}}
{%- endmacro %}
{% macro should_revoke(existing_relation, full_refresh_mode=True) %}{{ return(false) }}{% endmacro %}
