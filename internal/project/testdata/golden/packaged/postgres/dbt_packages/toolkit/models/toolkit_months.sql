select date_trunc('month', cast('2024-01-01' as date) + ((interval '1 month') * (n))) as month_start
from (select 0 as n union all select 1 union all select 2) as months