-- Singular test: returns the orders whose total, amount paid or net revenue
-- is negative. The test passes when no rows are returned.
select
    order_id,
    order_total,
    amount_paid,
    net_revenue
from "main"."fct_orders"
where order_total < 0
    or amount_paid < 0
    or net_revenue < 0