select "order_id"
from "main"."fct_orders"
where "order_id" is null