select "net_revenue"
from (select * from "main"."monthly_revenue_by_region" where order_count > 0) dbt_subquery
where "net_revenue" is null