select "order_key"
from "analytics"."fct_orders"
where "order_key" is null