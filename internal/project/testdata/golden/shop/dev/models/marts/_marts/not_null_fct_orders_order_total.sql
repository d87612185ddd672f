select "order_total"
from "main"."fct_orders"
where "order_total" is null