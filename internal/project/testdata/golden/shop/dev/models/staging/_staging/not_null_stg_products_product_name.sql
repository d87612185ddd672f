select "product_name"
from "main"."stg_products"
where "product_name" is null