"""The district codes the tests use, named once (codes and names as in
districts/data/seoul-2025-07-01.tsv).

Constants, not fixtures: the districts themselves are always there (a data migration loads
them, and tests/conftest.py reloads them after a transactional test's flush).
"""

SEOUL = "1100000000"  # 서울특별시: the whole city

JONGNO = "1111000000"  # 종로구
CHEONGUN = "1111051500"  # 종로구 청운효자동
SAJIK = "1111053000"  # 종로구 사직동
HYEHWA = "1111065000"  # 종로구 혜화동

JUNG = "1114000000"  # 중구
DONGDAEMUN = "1123000000"  # 동대문구
MAPO = "1144000000"  # 마포구
SEOCHO = "1165000000"  # 서초구

GANGNAM = "1168000000"  # 강남구
SINSA = "1168051000"  # 강남구 신사동
YEOKSAM1 = "1168064000"  # 강남구 역삼1동
