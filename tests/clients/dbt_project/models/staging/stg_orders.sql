-- A late-binding view: CREATE VIEW ... WITH NO SCHEMA BINDING (DG:r_CREATE_VIEW).
{{ config(bind=false) }}
select order_id, customer_id, order_date::date as order_date, status, amount,
       updated_at
from {{ ref('orders') }}
