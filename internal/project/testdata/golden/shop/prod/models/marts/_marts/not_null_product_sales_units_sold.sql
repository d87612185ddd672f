select "units_sold"
from "main"."product_sales"
where "units_sold" is null