select "most_recent_order_date"
from (select * from "main"."dim_customers" where number_of_orders > 0) dbt_subquery
where "most_recent_order_date" is null