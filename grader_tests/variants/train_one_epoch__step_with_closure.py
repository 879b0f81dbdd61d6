"""train_one_epoch with optimizer.step(closure): the closure zeroes the gradients, computes the loss and
backpropagates; the step calls it once per batch and returns its loss (the scores kept in a list for the
accuracy)."""

TASK = "train_one_epoch"
CELL = "train_one_epoch_solution"
SOURCE = '''
def train_one_epoch(model, batches, optimizer, device, scheduler=None, amp_dtype=None):
    device = torch.device(device)
    model.train()
    sums = torch.zeros(2, device=device)  # summed loss, correct predictions
    seen = 0
    for x, y in batches:
        x, y = x.to(device), y.to(device)
        kept = []

        def closure():
            optimizer.zero_grad()
            with torch.autocast(device_type=device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
                scores = model(x)
                loss = F.cross_entropy(scores, y)
            loss.backward()
            kept.append(scores.detach())
            return loss

        loss = optimizer.step(closure)
        sums[0] += loss.detach().float() * len(y)
        sums[1] += (kept[0].argmax(1) == y).sum()
        seen += len(y)
    if scheduler is not None:
        scheduler.step()
    loss_sum, correct = sums.tolist()
    return {"loss": loss_sum / max(seen, 1), "accuracy": correct / max(seen, 1)}
'''
