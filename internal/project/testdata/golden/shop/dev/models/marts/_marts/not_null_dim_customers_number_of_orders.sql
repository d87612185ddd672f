select "number_of_orders"
from "main"."dim_customers"
where "number_of_orders" is null