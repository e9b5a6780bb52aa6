"""Seed the ticker master with the NIFTY 50 constituents, so connectors and the simulated market have
tickers from the first `make run`. Constituents as of NSE's September 2025 index review; the list is
editable in admin (Warehouse › Tickers). ISINs are left blank rather than guessed; the bhavcopy load
fills them in the daily bars. Existing rows (e.g. edited in admin) are never overwritten."""

from django.db import migrations

NIFTY50 = [
    ("ADANIENT", "Adani Enterprises Ltd.", ["Adani Enterprises"]),
    ("ADANIPORTS", "Adani Ports and Special Economic Zone Ltd.", ["Adani Ports"]),
    ("APOLLOHOSP", "Apollo Hospitals Enterprise Ltd.", ["Apollo Hospitals"]),
    ("ASIANPAINT", "Asian Paints Ltd.", ["Asian Paints"]),
    ("AXISBANK", "Axis Bank Ltd.", ["Axis Bank"]),
    ("BAJAJ-AUTO", "Bajaj Auto Ltd.", ["Bajaj Auto"]),
    ("BAJAJFINSV", "Bajaj Finserv Ltd.", ["Bajaj Finserv"]),
    ("BAJFINANCE", "Bajaj Finance Ltd.", ["Bajaj Finance"]),
    ("BEL", "Bharat Electronics Ltd.", ["Bharat Electronics"]),
    ("BHARTIARTL", "Bharti Airtel Ltd.", ["Airtel", "Bharti Airtel"]),
    ("CIPLA", "Cipla Ltd.", []),
    ("COALINDIA", "Coal India Ltd.", ["Coal India"]),
    ("DRREDDY", "Dr. Reddy's Laboratories Ltd.", ["Dr Reddy's"]),
    ("EICHERMOT", "Eicher Motors Ltd.", ["Eicher Motors"]),
    ("ETERNAL", "Eternal Ltd.", ["Zomato"]),
    ("GRASIM", "Grasim Industries Ltd.", []),
    ("HCLTECH", "HCL Technologies Ltd.", ["HCL Tech"]),
    ("HDFCBANK", "HDFC Bank Ltd.", ["HDFC Bank"]),
    ("HDFCLIFE", "HDFC Life Insurance Company Ltd.", ["HDFC Life"]),
    ("HINDALCO", "Hindalco Industries Ltd.", []),
    ("HINDUNILVR", "Hindustan Unilever Ltd.", ["HUL"]),
    ("ICICIBANK", "ICICI Bank Ltd.", ["ICICI Bank"]),
    ("INDIGO", "InterGlobe Aviation Ltd.", ["IndiGo", "InterGlobe"]),
    ("INFY", "Infosys Ltd.", ["Infosys"]),
    ("ITC", "ITC Ltd.", []),
    ("JIOFIN", "Jio Financial Services Ltd.", ["Jio Financial"]),
    ("JSWSTEEL", "JSW Steel Ltd.", ["JSW Steel"]),
    ("KOTAKBANK", "Kotak Mahindra Bank Ltd.", ["Kotak Bank"]),
    ("LT", "Larsen & Toubro Ltd.", ["L&T", "Larsen"]),
    ("M&M", "Mahindra & Mahindra Ltd.", ["Mahindra"]),
    ("MARUTI", "Maruti Suzuki India Ltd.", ["Maruti Suzuki"]),
    ("MAXHEALTH", "Max Healthcare Institute Ltd.", ["Max Healthcare"]),
    ("NESTLEIND", "Nestle India Ltd.", ["Nestle India"]),
    ("NTPC", "NTPC Ltd.", []),
    ("ONGC", "Oil & Natural Gas Corporation Ltd.", []),
    ("POWERGRID", "Power Grid Corporation of India Ltd.", ["Power Grid"]),
    ("RELIANCE", "Reliance Industries Ltd.", ["Reliance", "RIL"]),
    ("SBILIFE", "SBI Life Insurance Company Ltd.", ["SBI Life"]),
    ("SBIN", "State Bank of India", ["SBI"]),
    ("SHRIRAMFIN", "Shriram Finance Ltd.", ["Shriram Finance"]),
    ("SUNPHARMA", "Sun Pharmaceutical Industries Ltd.", ["Sun Pharma"]),
    ("TATACONSUM", "Tata Consumer Products Ltd.", ["Tata Consumer"]),
    ("TATAMOTORS", "Tata Motors Ltd.", ["Tata Motors"]),
    ("TATASTEEL", "Tata Steel Ltd.", ["Tata Steel"]),
    ("TCS", "Tata Consultancy Services Ltd.", ["Tata Consultancy"]),
    ("TECHM", "Tech Mahindra Ltd.", ["Tech Mahindra"]),
    ("TITAN", "Titan Company Ltd.", []),
    ("TRENT", "Trent Ltd.", []),
    ("ULTRACEMCO", "UltraTech Cement Ltd.", ["UltraTech"]),
    ("WIPRO", "Wipro Ltd.", []),
]


def seed(apps, schema_editor):
    Ticker = apps.get_model("warehouse", "Ticker")
    existing = set(Ticker.objects.filter(exchange="NSE").values_list("symbol", flat=True))
    Ticker.objects.bulk_create(
        [
            Ticker(symbol=symbol, exchange="NSE", name=name, series="EQ", active=True, aliases=aliases, isin="")
            for symbol, name, aliases in NIFTY50
            if symbol not in existing
        ]
    )


class Migration(migrations.Migration):
    dependencies = [("warehouse", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
