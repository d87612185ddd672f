select "product_id"
from "main"."product_sales"
where "product_id" is null