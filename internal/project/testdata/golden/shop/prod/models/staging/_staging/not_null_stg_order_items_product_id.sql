select "product_id"
from "main"."stg_order_items"
where "product_id" is null