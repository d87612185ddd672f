select "is_fully_paid"
from "main"."fct_orders"
where "is_fully_paid" is null