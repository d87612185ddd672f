select date_trunc('month', date_add(cast('2024-01-01' as date), interval (n) month)) as month_start
from (select 0 as n union all select 1 union all select 2) as months