{#- dbt's date macros, written for dataops (DuckDB and PostgreSQL). -#}

{% macro current_timestamp() %}{{ return(adapter.dispatch('current_timestamp', 'dbt')()) }}{% endmacro %}
{% macro default__current_timestamp() %}now(){% endmacro %}
{% macro current_timestamp_backcompat() %}{{ return(adapter.dispatch('current_timestamp_backcompat', 'dbt')()) }}{% endmacro %}
{% macro default__current_timestamp_backcompat() %}current_timestamp::{{ dbt.type_timestamp() }}{% endmacro %}
{% macro current_timestamp_in_utc_backcompat() %}{{ return(adapter.dispatch('current_timestamp_in_utc_backcompat', 'dbt')()) }}{% endmacro %}
{% macro default__current_timestamp_in_utc_backcompat() %}(current_timestamp at time zone 'utc')::{{ dbt.type_timestamp() }}{% endmacro %}
{% macro snapshot_get_time() %}{{ dbt.current_timestamp() }}{% endmacro %}

{% macro date_trunc(datepart, date) %}{{ return(adapter.dispatch('date_trunc', 'dbt')(datepart, date)) }}{% endmacro %}
{% macro default__date_trunc(datepart, date) %}date_trunc('{{ datepart }}', {{ date }}){% endmacro %}

{% macro dateadd(datepart, interval, from_date_or_timestamp) %}{{ return(adapter.dispatch('dateadd', 'dbt')(datepart, interval, from_date_or_timestamp)) }}{% endmacro %}
{#- default__ is dbt's own, for engines dataops does not build on (a manifest's snowflake, to compare SQL
    with dbt's); each engine dataops builds on has its own. -#}
{% macro default__dateadd(datepart, interval, from_date_or_timestamp) %}

    dateadd(
        {{ datepart }},
        {{ interval }},
        {{ from_date_or_timestamp }}
        )

{% endmacro %}
{% macro postgres__dateadd(datepart, interval, from_date_or_timestamp) %}{{ from_date_or_timestamp }} + ((interval '1 {{ datepart }}') * ({{ interval }})){% endmacro %}
{% macro duckdb__dateadd(datepart, interval, from_date_or_timestamp) %}date_add({{ from_date_or_timestamp }}, interval ({{ interval }}) {{ datepart }}){% endmacro %}

{#- datediff counts the boundaries of datepart crossed between two dates,
    as dbt defines it for every engine. -#}
{% macro datediff(first_date, second_date, datepart) %}{{ return(adapter.dispatch('datediff', 'dbt')(first_date, second_date, datepart)) }}{% endmacro %}
{% macro default__datediff(first_date, second_date, datepart) -%}

    datediff(
        {{ datepart }},
        {{ first_date }},
        {{ second_date }}
        )

{%- endmacro %}
{% macro postgres__datediff(first_date, second_date, datepart) -%}
  {%- set dp = datepart | lower -%}
  {%- if dp == 'year' -%}
(date_part('year', ({{ second_date }})::date) - date_part('year', ({{ first_date }})::date))
  {%- elif dp == 'quarter' -%}
((date_part('year', ({{ second_date }})::date) - date_part('year', ({{ first_date }})::date)) * 4 + date_part('quarter', ({{ second_date }})::date) - date_part('quarter', ({{ first_date }})::date))
  {%- elif dp == 'month' -%}
((date_part('year', ({{ second_date }})::date) - date_part('year', ({{ first_date }})::date)) * 12 + date_part('month', ({{ second_date }})::date) - date_part('month', ({{ first_date }})::date))
  {%- elif dp == 'day' -%}
(({{ second_date }})::date - ({{ first_date }})::date)
  {%- elif dp == 'week' -%}
((({{ second_date }})::date - date_part('dow', ({{ second_date }})::date)::int) - (({{ first_date }})::date - date_part('dow', ({{ first_date }})::date)::int)) / 7
  {%- elif dp == 'hour' -%}
((({{ second_date }})::date - ({{ first_date }})::date) * 24 + date_part('hour', ({{ second_date }})::timestamp) - date_part('hour', ({{ first_date }})::timestamp))
  {%- elif dp == 'minute' -%}
(((({{ second_date }})::date - ({{ first_date }})::date) * 24 + date_part('hour', ({{ second_date }})::timestamp) - date_part('hour', ({{ first_date }})::timestamp)) * 60 + date_part('minute', ({{ second_date }})::timestamp) - date_part('minute', ({{ first_date }})::timestamp))
  {%- elif dp in ('second', 'millisecond', 'microsecond') -%}
    {%- set scale = {'second': 1, 'millisecond': 1000, 'microsecond': 1000000}[dp] -%}
floor(extract(epoch from ({{ second_date }})::timestamp) * {{ scale }}) - floor(extract(epoch from ({{ first_date }})::timestamp) * {{ scale }})
  {%- else -%}
    {{ exceptions.raise_compiler_error("datediff does not know the datepart '" ~ datepart ~ "'") }}
  {%- endif -%}
{%- endmacro %}
{% macro duckdb__datediff(first_date, second_date, datepart) %}date_diff('{{ datepart }}', ({{ first_date }})::timestamp, ({{ second_date }})::timestamp){% endmacro %}

{% macro last_day(date, datepart) %}{{ return(adapter.dispatch('last_day', 'dbt')(date, datepart)) }}{% endmacro %}
{% macro default__last_day(date, datepart) %}cast({{ dbt.date_trunc(datepart, date) }} + (interval '1 {{ datepart }}') - (interval '1 day') as date){% endmacro %}

{% macro date(year, month, day) %}{{ return(adapter.dispatch('date', 'dbt')(year, month, day)) }}{% endmacro %}
{% macro default__date(year, month, day) %}make_date({{ year }}, {{ month }}, {{ day }}){% endmacro %}
