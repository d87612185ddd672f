select
    id,
    {{ cents_to_dolars('amount') }} as amount
from payments
