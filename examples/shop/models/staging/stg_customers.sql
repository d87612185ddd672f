-- One row per customer. The application occasionally exports the same
-- account twice, so keep only the most recently created row per id.
{% call deduplicate(
    ['customer_id', 'first_name', 'last_name', 'email', 'country_code', 'created_at'],
    'customer_id',
    'created_at desc'
) %}
    select
        cast(id as integer) as customer_id,
        trim(first_name) as first_name,
        trim(last_name) as last_name,
        lower(trim(email)) as email,
        upper(trim(country_code)) as country_code,
        cast(created_at as timestamp) as created_at
    from {{ source('shop', 'raw_customers') }}
{% endcall %}
