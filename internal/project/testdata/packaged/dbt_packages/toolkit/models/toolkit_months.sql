select {{ dbt.date_trunc('month', dbt.dateadd('month', 'n', "cast('2024-01-01' as date)")) }} as month_start
from (select 0 as n union all select 1 union all select 2) as months
