select "price"
from "main"."stg_products"
where "price" is null