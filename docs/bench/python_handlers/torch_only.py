import numpy as np, torch
INPUTS = "numpy"
INPUT_DTYPE = "float32"
m = torch.nn.Linear(256, 1024)
def handle_batch(inputs):
    with torch.inference_mode():
        y = m(torch.from_numpy(np.stack(inputs)))
    return [0] * len(inputs)
