select "first_order_date"
from "main"."dim_customers"
where "first_order_date" is null