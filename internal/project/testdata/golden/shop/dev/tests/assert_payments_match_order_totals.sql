-- Singular test: every order must be paid exactly; returns the orders whose
-- payments differ from the order total.
select
    order_id,
    order_total,
    amount_paid
from "main"."fct_orders"
where amount_paid <> order_total