
select amount
from "analytics"."fct_orders"
where amount < 0
