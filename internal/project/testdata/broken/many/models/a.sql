{{ config(materialized='tabel') }}
select {{ var('start_date') }} as d
from {{ source('raw', 'orders') }}
