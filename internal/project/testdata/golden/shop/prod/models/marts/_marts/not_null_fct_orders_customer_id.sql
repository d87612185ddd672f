select "customer_id"
from "main"."fct_orders"
where "customer_id" is null