select "email"
from "main"."dim_customers"
where "email" is null